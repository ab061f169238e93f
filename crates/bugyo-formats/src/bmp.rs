//! BMP, the BGP Monitoring Protocol, version 3 (RFC 7854), with Adj-RIB-Out
//! (RFC 8671) and Loc-RIB (RFC 9069) views: the messages a router's BMP
//! client sends to a monitoring station.
//!
//! [`BmpDecoder`] is sans-IO: [`BmpDecoder::push`] bytes as they arrive from
//! a connection and iterate it for [`BmpMessage`] values (`None` means "need
//! more bytes"). [`BmpReader`] does the same over any [`std::io::Read`].
//! Messages are framed by the common header's length, so a malformed
//! message (bad version, unknown type, truncated body, undecodable BGP PDU)
//! yields one [`BmpError`] with its byte offset and the next message is
//! decoded as usual. A length field below 6 or above [`MAX_MESSAGE_LEN`]
//! means the framing is lost: the decoder reports a fatal error and stops,
//! as a station would close the connection.
//!
//! Route Monitoring messages carry a BGP UPDATE, decoded with
//! [`crate::bgp::parse_update`]: 4-byte AS numbers unless the per-peer
//! header's A flag says 2-byte, ADD-PATH when the peer's Peer Up OPENs
//! negotiated it for IPv4 or IPv6 unicast. Families other than IPv4/IPv6
//! unicast (labeled unicast, VPN, ...) are recognised and counted in
//! [`BmpStats::not_unicast`], not decoded.

use crate::bgp::{parse_message, parse_update, BgpError, BgpMessage, Nlri, Open, UpdateOptions};
use bugyo_model::{Asn, PathAttributes, Peer, Timestamp};
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

/// The largest message length accepted; a longer one breaks the stream.
pub const MAX_MESSAGE_LEN: usize = 16 * 1024 * 1024;

/// Length of the common header (version, length, type).
pub const COMMON_HEADER_LEN: usize = 6;

/// Length of the per-peer header.
pub const PEER_HEADER_LEN: usize = 42;

/// BMP message type codes (RFC 7854 §4.1).
pub mod msg_type {
    /// Route Monitoring.
    pub const ROUTE_MONITORING: u8 = 0;
    /// Statistics Report.
    pub const STATISTICS_REPORT: u8 = 1;
    /// Peer Down Notification.
    pub const PEER_DOWN: u8 = 2;
    /// Peer Up Notification.
    pub const PEER_UP: u8 = 3;
    /// Initiation.
    pub const INITIATION: u8 = 4;
    /// Termination.
    pub const TERMINATION: u8 = 5;
    /// Route Mirroring.
    pub const ROUTE_MIRRORING: u8 = 6;
}

/// The kind of peer a per-peer header describes (RFC 7854 §4.2, RFC 9069).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PeerType {
    /// Global Instance Peer (0).
    Global,
    /// RD Instance Peer (1): the distinguisher is a route distinguisher.
    RdInstance,
    /// Local Instance Peer (2).
    LocalInstance,
    /// Loc-RIB Instance Peer (3, RFC 9069).
    LocRib,
    /// Any other code.
    Other(u8),
}

impl PeerType {
    /// The type for a wire code.
    pub fn from_code(c: u8) -> PeerType {
        match c {
            0 => PeerType::Global,
            1 => PeerType::RdInstance,
            2 => PeerType::LocalInstance,
            3 => PeerType::LocRib,
            o => PeerType::Other(o),
        }
    }

    /// The wire code.
    pub fn code(&self) -> u8 {
        match self {
            PeerType::Global => 0,
            PeerType::RdInstance => 1,
            PeerType::LocalInstance => 2,
            PeerType::LocRib => 3,
            PeerType::Other(o) => *o,
        }
    }
}

/// Which RIB of the monitored router a message is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RibView {
    /// Adj-RIB-In before inbound policy.
    AdjRibInPre,
    /// Adj-RIB-In after inbound policy (L flag).
    AdjRibInPost,
    /// Adj-RIB-Out before outbound policy (O flag, RFC 8671).
    AdjRibOutPre,
    /// Adj-RIB-Out after outbound policy (O and L flags).
    AdjRibOutPost,
    /// The router's Loc-RIB (peer type 3, RFC 9069).
    LocRib,
}

/// The per-peer header (RFC 7854 §4.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerHeader {
    /// Peer type.
    pub peer_type: PeerType,
    /// Raw flags byte.
    pub flags: u8,
    /// Peer distinguisher (route distinguisher for RD instance peers).
    pub distinguisher: u64,
    /// Peer address (0.0.0.0 for Loc-RIB).
    pub addr: IpAddr,
    /// Peer AS.
    pub asn: Asn,
    /// Peer BGP identifier.
    pub bgp_id: Ipv4Addr,
    /// Time the router encoded (seconds and microseconds).
    pub time: Timestamp,
}

impl PeerHeader {
    /// V flag: the peer address is IPv6 (not for Loc-RIB).
    pub fn ipv6(&self) -> bool {
        self.peer_type != PeerType::LocRib && self.flags & 0x80 != 0
    }

    /// L flag: post-policy (not for Loc-RIB).
    pub fn post_policy(&self) -> bool {
        self.peer_type != PeerType::LocRib && self.flags & 0x40 != 0
    }

    /// A flag: AS_PATH in the legacy 2-byte format (not for Loc-RIB).
    pub fn legacy_as2(&self) -> bool {
        self.peer_type != PeerType::LocRib && self.flags & 0x20 != 0
    }

    /// O flag: Adj-RIB-Out (RFC 8671; not for Loc-RIB).
    pub fn adj_rib_out(&self) -> bool {
        self.peer_type != PeerType::LocRib && self.flags & 0x10 != 0
    }

    /// F flag of a Loc-RIB peer: the Loc-RIB is filtered (RFC 9069).
    pub fn loc_rib_filtered(&self) -> bool {
        self.peer_type == PeerType::LocRib && self.flags & 0x80 != 0
    }

    /// The RIB this header's messages are about.
    pub fn view(&self) -> RibView {
        match (
            self.peer_type == PeerType::LocRib,
            self.adj_rib_out(),
            self.post_policy(),
        ) {
            (true, _, _) => RibView::LocRib,
            (false, false, false) => RibView::AdjRibInPre,
            (false, false, true) => RibView::AdjRibInPost,
            (false, true, false) => RibView::AdjRibOutPre,
            (false, true, true) => RibView::AdjRibOutPost,
        }
    }

    /// The peer as the model sees it (address and AS).
    pub fn peer(&self) -> Peer {
        Peer::new(self.asn, self.addr)
    }

    /// The distinguisher as text, `type:admin:assigned` (RFC 4364 forms).
    pub fn distinguisher_text(&self) -> String {
        let d = self.distinguisher.to_be_bytes();
        let ty = u16::from_be_bytes([d[0], d[1]]);
        match ty {
            0 => format!(
                "0:{}:{}",
                u16::from_be_bytes([d[2], d[3]]),
                u32::from_be_bytes([d[4], d[5], d[6], d[7]])
            ),
            1 => format!(
                "1:{}:{}",
                Ipv4Addr::new(d[2], d[3], d[4], d[5]),
                u16::from_be_bytes([d[6], d[7]])
            ),
            2 => format!(
                "2:{}:{}",
                u32::from_be_bytes([d[2], d[3], d[4], d[5]]),
                u16::from_be_bytes([d[6], d[7]])
            ),
            _ => format!("{:#018x}", self.distinguisher),
        }
    }
}

/// An information TLV of Initiation, Termination or Peer Up messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InfoTlv {
    /// TLV type (Initiation: 0 string, 1 sysDescr, 2 sysName; Termination:
    /// 0 string, 1 reason; Peer Up: 0 string, 3 VRF/table name, 4 admin label).
    pub kind: u16,
    /// The value.
    pub value: Vec<u8>,
}

impl InfoTlv {
    /// The value as (lossy) UTF-8 text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.value).into_owned()
    }
}

/// An Initiation or Termination message's TLVs, with accessors.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InfoTlvs(pub Vec<InfoTlv>);

impl InfoTlvs {
    /// The first TLV of a type, as text.
    pub fn get(&self, kind: u16) -> Option<String> {
        self.0.iter().find(|t| t.kind == kind).map(InfoTlv::text)
    }

    /// sysName (Initiation type 2).
    pub fn sys_name(&self) -> Option<String> {
        self.get(2)
    }

    /// sysDescr (Initiation type 1).
    pub fn sys_descr(&self) -> Option<String> {
        self.get(1)
    }

    /// Free-form strings (type 0).
    pub fn strings(&self) -> Vec<String> {
        self.0
            .iter()
            .filter(|t| t.kind == 0)
            .map(InfoTlv::text)
            .collect()
    }

    /// Termination reason (Termination type 1, a 2-byte code: 0 admin
    /// close, 1 unspecified, 2 out of resources, 3 redundant connection,
    /// 4 permanently closed).
    pub fn reason(&self) -> Option<u16> {
        self.0
            .iter()
            .find(|t| t.kind == 1 && t.value.len() == 2)
            .map(|t| u16::from_be_bytes([t.value[0], t.value[1]]))
    }
}

/// A Peer Up Notification (RFC 7854 §4.10).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerUp {
    /// Local address of the session.
    pub local_addr: IpAddr,
    /// Local TCP port.
    pub local_port: u16,
    /// Remote TCP port.
    pub remote_port: u16,
    /// The OPEN the monitored router sent.
    pub sent_open: Open,
    /// The OPEN it received from the peer.
    pub received_open: Open,
    /// Information TLVs (string, VRF/table name, admin label).
    pub info: InfoTlvs,
}

impl PeerUp {
    /// True if both OPENs carry the 4-byte AS capability.
    pub fn asn4(&self) -> bool {
        self.sent_open.asn4().is_some() && self.received_open.asn4().is_some()
    }

    /// True if ADD-PATH was negotiated for receiving (the peer sends, the
    /// router receives) IPv4 or IPv6 unicast.
    pub fn add_path_rx(&self) -> bool {
        let sent = self.sent_open.add_path();
        self.received_open
            .add_path()
            .iter()
            .any(|&(afi, safi, sr)| {
                (afi == 1 || afi == 2)
                    && safi == 1
                    && sr & 2 != 0
                    && sent
                        .iter()
                        .any(|&(a, s, r)| a == afi && s == safi && r & 1 != 0)
            })
    }
}

/// Why a peer went down (RFC 7854 §4.9, RFC 9069).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerDownReason {
    /// 1: the local system closed the session with this NOTIFICATION.
    LocalNotification {
        /// Error code.
        code: u8,
        /// Error subcode.
        subcode: u8,
    },
    /// 2: the local system closed the session; the FSM event code.
    LocalFsm(u16),
    /// 3: the remote system closed the session with this NOTIFICATION.
    RemoteNotification {
        /// Error code.
        code: u8,
        /// Error subcode.
        subcode: u8,
    },
    /// 4: the remote system closed the session without a NOTIFICATION.
    RemoteNoData,
    /// 5: the peer was de-configured (information no longer relevant).
    Deconfigured,
    /// 6: the local system closed the session, TLV data follows (RFC 9069).
    LocalTlv(Vec<u8>),
    /// 7 or any other code, with the raw data.
    Other(u8, Vec<u8>),
}

impl PeerDownReason {
    /// The wire reason code.
    pub fn code(&self) -> u8 {
        match self {
            PeerDownReason::LocalNotification { .. } => 1,
            PeerDownReason::LocalFsm(_) => 2,
            PeerDownReason::RemoteNotification { .. } => 3,
            PeerDownReason::RemoteNoData => 4,
            PeerDownReason::Deconfigured => 5,
            PeerDownReason::LocalTlv(_) => 6,
            PeerDownReason::Other(c, _) => *c,
        }
    }
}

/// One Statistics Report counter (RFC 7854 §4.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    /// Stat type (0 rejected prefixes, 1 duplicate advertisements, ...,
    /// 7 routes in Adj-RIB-In, 8 routes in Loc-RIB, 9/10 per AFI/SAFI, ...).
    pub kind: u16,
    /// The AFI/SAFI, for per-family types (value length 11).
    pub family: Option<(u16, u8)>,
    /// The value (32-bit counters and 64-bit gauges alike).
    pub value: u64,
}

/// The routes of a Route Monitoring message: its BGP UPDATE, decoded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteMonitoring {
    /// Withdrawn unicast prefixes.
    pub withdrawn: Vec<Nlri>,
    /// Announced unicast prefixes.
    pub announced: Vec<Nlri>,
    /// Path attributes of the announced prefixes.
    pub attrs: Option<Arc<PathAttributes>>,
    /// Problems inside the UPDATE, handled per RFC 7606.
    pub errors: Vec<BgpError>,
    /// True if an error forced treat-as-withdraw.
    pub treat_as_withdraw: bool,
    /// (AFI, SAFI) of MP families present but not decoded (not unicast).
    pub other_families: Vec<(u16, u8)>,
    /// True if the UPDATE is an End-of-RIB marker (RFC 4724).
    pub end_of_rib: bool,
}

/// The body of a BMP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BmpBody {
    /// Route Monitoring (0).
    RouteMonitoring(RouteMonitoring),
    /// Statistics Report (1).
    Statistics(Vec<Stat>),
    /// Peer Down Notification (2).
    PeerDown(PeerDownReason),
    /// Peer Up Notification (3).
    PeerUp(Box<PeerUp>),
    /// Initiation (4).
    Initiation(InfoTlvs),
    /// Termination (5).
    Termination(InfoTlvs),
    /// Route Mirroring (6): recognised, not decoded; the number of TLVs.
    RouteMirroring(usize),
}

/// One decoded BMP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BmpMessage {
    /// Byte offset of the message in the stream.
    pub offset: u64,
    /// Total length (common header included).
    pub len: usize,
    /// Message type code.
    pub msg_type: u8,
    /// The per-peer header (all types but Initiation and Termination).
    pub peer: Option<PeerHeader>,
    /// The body.
    pub body: BmpBody,
}

/// A malformed BMP message, or a broken stream.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("BMP at byte {offset}: {reason}{}", if *.fatal { " (stream broken)" } else { "" })]
pub struct BmpError {
    /// Byte offset in the stream of the problem.
    pub offset: u64,
    /// Offset of the message it belongs to.
    pub msg_offset: u64,
    /// The message type, if the common header was read.
    pub msg_type: Option<u8>,
    /// What is wrong.
    pub reason: String,
    /// True if framing is lost: nothing more will be decoded.
    pub fatal: bool,
}

/// Counters of a BMP stream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BmpStats {
    /// Bytes consumed.
    pub bytes: u64,
    /// Messages decoded.
    pub messages: u64,
    /// Route Monitoring messages decoded.
    pub route_monitoring: u64,
    /// Statistics Reports decoded.
    pub statistics: u64,
    /// Peer Down Notifications decoded.
    pub peer_down: u64,
    /// Peer Up Notifications decoded.
    pub peer_up: u64,
    /// Initiation messages decoded.
    pub initiation: u64,
    /// Termination messages decoded.
    pub termination: u64,
    /// Route Mirroring messages recognised.
    pub route_mirroring: u64,
    /// Unicast prefixes announced.
    pub announced: u64,
    /// Unicast prefixes withdrawn.
    pub withdrawn: u64,
    /// End-of-RIB markers.
    pub end_of_rib: u64,
    /// Route Monitoring messages with a family not decoded, by (AFI, SAFI).
    pub not_unicast: BTreeMap<(u16, u8), u64>,
    /// RFC 7606 problems inside UPDATEs (messages kept).
    pub update_errors: u64,
    /// Messages skipped as malformed.
    pub errors: u64,
    /// Offsets of the first 100 skipped messages.
    pub error_offsets: Vec<u64>,
    /// True once the framing was lost.
    pub broken: bool,
}

impl BmpStats {
    /// Route Monitoring messages that carried a family not decoded.
    pub fn not_unicast_total(&self) -> u64 {
        self.not_unicast.values().sum()
    }
}

/// What a peer's Peer Up said about how to read its UPDATEs.
#[derive(Clone, Copy, Debug, Default)]
struct SessionCaps {
    add_path: bool,
}

type PeerKey = (u8, u64, IpAddr, bool);

/// A sans-IO BMP decoder: push bytes, iterate messages. Iteration returns
/// `None` when more bytes are needed; push more and iterate again.
#[derive(Debug, Default)]
pub struct BmpDecoder {
    buf: Vec<u8>,
    start: usize,
    offset: u64,
    peers: HashMap<PeerKey, SessionCaps>,
    stats: BmpStats,
    broken: bool,
}

impl BmpDecoder {
    /// A decoder at stream offset 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes received (ignored once the stream is broken).
    pub fn push(&mut self, data: &[u8]) {
        if self.broken {
            return;
        }
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// Counters so far.
    pub fn stats(&self) -> &BmpStats {
        &self.stats
    }

    /// True once the framing was lost.
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// Bytes received but not yet decoded (a partial message).
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Stream offset of the next byte to decode.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// At end of stream: an error if a partial message is left over.
    pub fn finish(&mut self) -> Option<BmpError> {
        if self.broken || self.buffered() == 0 {
            return None;
        }
        let n = self.buffered();
        let err = BmpError {
            offset: self.offset + n as u64,
            msg_offset: self.offset,
            msg_type: self.buf.get(self.start + 5).copied(),
            reason: format!("stream ends inside a message ({n} bytes of it)"),
            fatal: true,
        };
        self.record_error(&err);
        self.stats.bytes += n as u64;
        self.start = self.buf.len();
        self.broken = true;
        Some(err)
    }

    fn record_error(&mut self, e: &BmpError) {
        self.stats.errors += 1;
        if self.stats.error_offsets.len() < 100 {
            self.stats.error_offsets.push(e.msg_offset);
        }
        if e.fatal {
            self.stats.broken = true;
        }
    }

    fn decode_one(&mut self) -> Option<Result<BmpMessage, BmpError>> {
        if self.broken {
            return None;
        }
        let avail = &self.buf[self.start..];
        if avail.len() < COMMON_HEADER_LEN {
            return None;
        }
        let version = avail[0];
        let len = u32::from_be_bytes([avail[1], avail[2], avail[3], avail[4]]) as usize;
        let ty = avail[5];
        let at = self.offset;
        if version < 3 {
            // BMP versions 1 and 2 have no length field: nothing after this
            // can be framed.
            let e = BmpError {
                offset: at,
                msg_offset: at,
                msg_type: None,
                reason: format!(
                    "version {version}: BMP before version 3 has no message length; framing lost"
                ),
                fatal: true,
            };
            self.record_error(&e);
            self.broken = true;
            self.start = self.buf.len();
            return Some(Err(e));
        }
        if !(COMMON_HEADER_LEN..=MAX_MESSAGE_LEN).contains(&len) {
            let e = BmpError {
                offset: at + 1,
                msg_offset: at,
                msg_type: Some(ty),
                reason: format!("message length {len} out of range 6..=16 MiB"),
                fatal: true,
            };
            self.record_error(&e);
            self.broken = true;
            self.start = self.buf.len();
            return Some(Err(e));
        }
        if avail.len() < len {
            return None;
        }
        let msg = avail[..len].to_vec();
        self.start += len;
        self.offset += len as u64;
        self.stats.bytes += len as u64;
        let r = if version != 3 {
            Err(BmpError {
                offset: at,
                msg_offset: at,
                msg_type: Some(ty),
                reason: format!("version {version}, not 3 (skipped by its length)"),
                fatal: false,
            })
        } else {
            self.decode_body(&msg, at)
        };
        match &r {
            Ok(m) => self.count(m),
            Err(e) => self.record_error(e),
        }
        Some(r)
    }

    fn count(&mut self, m: &BmpMessage) {
        let s = &mut self.stats;
        s.messages += 1;
        match &m.body {
            BmpBody::RouteMonitoring(rm) => {
                s.route_monitoring += 1;
                s.announced += rm.announced.len() as u64;
                s.withdrawn += rm.withdrawn.len() as u64;
                s.end_of_rib += u64::from(rm.end_of_rib);
                s.update_errors += rm.errors.len() as u64;
                let mut fams = rm.other_families.clone();
                fams.dedup();
                for f in fams {
                    *s.not_unicast.entry(f).or_insert(0) += 1;
                }
            }
            BmpBody::Statistics(_) => s.statistics += 1,
            BmpBody::PeerDown(_) => s.peer_down += 1,
            BmpBody::PeerUp(_) => s.peer_up += 1,
            BmpBody::Initiation(_) => s.initiation += 1,
            BmpBody::Termination(_) => s.termination += 1,
            BmpBody::RouteMirroring(_) => s.route_mirroring += 1,
        }
    }

    fn decode_body(&mut self, msg: &[u8], at: u64) -> Result<BmpMessage, BmpError> {
        let ty = msg[5];
        let err = |pos: usize, reason: String| BmpError {
            offset: at + pos as u64,
            msg_offset: at,
            msg_type: Some(ty),
            reason,
            fatal: false,
        };
        let mut out = BmpMessage {
            offset: at,
            len: msg.len(),
            msg_type: ty,
            peer: None,
            body: BmpBody::RouteMirroring(0),
        };
        let body_at = COMMON_HEADER_LEN;
        if ty == msg_type::INITIATION || ty == msg_type::TERMINATION {
            let tlvs = parse_tlvs(&msg[body_at..])
                .map_err(|p| err(body_at + p, "information TLV overruns the message".into()))?;
            out.body = if ty == msg_type::INITIATION {
                BmpBody::Initiation(tlvs)
            } else {
                BmpBody::Termination(tlvs)
            };
            return Ok(out);
        }
        if ty > msg_type::ROUTE_MIRRORING {
            return Err(err(5, format!("unknown message type {ty}")));
        }
        let ph = msg
            .get(body_at..body_at + PEER_HEADER_LEN)
            .ok_or_else(|| err(body_at, "per-peer header truncated".into()))?;
        let peer = parse_peer_header(ph);
        let p = body_at + PEER_HEADER_LEN;
        let rest = &msg[p..];
        let key: PeerKey = (
            peer.peer_type.code(),
            peer.distinguisher,
            peer.addr,
            peer.adj_rib_out(),
        );
        let bgp_err = |base: usize, e: BgpError| err(base + e.pos, format!("BGP PDU: {e}"));
        out.body = match ty {
            msg_type::ROUTE_MONITORING => {
                let (m, _) = parse_message(rest).map_err(|e| bgp_err(p, e))?;
                let BgpMessage::Update(body) = m else {
                    return Err(err(p, format!("carries a BGP {}, not an UPDATE", m.name())));
                };
                let caps = self.peers.get(&key).copied().unwrap_or_default();
                let opts = UpdateOptions {
                    asn4: !peer.legacy_as2(),
                    add_path: caps.add_path,
                };
                let u = parse_update(body, opts).map_err(|e| bgp_err(p + 19, e))?;
                let end_of_rib = body == [0, 0, 0, 0]
                    || (u.announced.is_empty()
                        && u.withdrawn.is_empty()
                        && u.other_families.len() == 1
                        && is_mp_eor(body));
                BmpBody::RouteMonitoring(RouteMonitoring {
                    withdrawn: u.withdrawn,
                    announced: u.announced,
                    attrs: u.attrs.map(Arc::new),
                    errors: u.errors,
                    treat_as_withdraw: u.treat_as_withdraw,
                    other_families: u.other_families,
                    end_of_rib,
                })
            }
            msg_type::STATISTICS_REPORT => {
                BmpBody::Statistics(parse_stats(rest).map_err(|(q, why)| err(p + q, why))?)
            }
            msg_type::PEER_DOWN => {
                let reason = parse_peer_down(rest).map_err(|(q, why)| err(p + q, why))?;
                self.peers.remove(&key);
                BmpBody::PeerDown(reason)
            }
            msg_type::PEER_UP => {
                let up = parse_peer_up(rest, peer.ipv6()).map_err(|(q, why)| err(p + q, why))?;
                self.peers.insert(
                    key,
                    SessionCaps {
                        add_path: up.add_path_rx(),
                    },
                );
                BmpBody::PeerUp(Box::new(up))
            }
            _ => {
                let tlvs = parse_tlvs(rest)
                    .map_err(|q| err(p + q, "route mirroring TLV overruns the message".into()))?;
                BmpBody::RouteMirroring(tlvs.0.len())
            }
        };
        out.peer = Some(peer);
        Ok(out)
    }
}

impl Iterator for BmpDecoder {
    type Item = Result<BmpMessage, BmpError>;

    /// The next message or error; `None` when more bytes are needed (or
    /// the stream is broken).
    fn next(&mut self) -> Option<Self::Item> {
        self.decode_one()
    }
}

/// An MP End-of-RIB: the only attribute is an empty MP_UNREACH_NLRI.
fn is_mp_eor(body: &[u8]) -> bool {
    // withdrawn len 0, attr len 6|7, MP_UNREACH with AFI/SAFI only.
    matches!(
        body,
        [0, 0, 0, 6, _, 15, 3, _, _, _] | [0, 0, 0, 7, _, 15, 0, 3, _, _, _]
    )
}

fn be32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
        .unwrap_or(0)
}

fn parse_peer_header(ph: &[u8]) -> PeerHeader {
    let peer_type = PeerType::from_code(ph[0]);
    let flags = ph[1];
    let mut d = [0u8; 8];
    d.copy_from_slice(&ph[2..10]);
    let mut a = [0u8; 16];
    a.copy_from_slice(&ph[10..26]);
    let v6 = peer_type != PeerType::LocRib && flags & 0x80 != 0;
    let addr = if v6 {
        IpAddr::V6(Ipv6Addr::from(a))
    } else {
        IpAddr::V4(Ipv4Addr::new(a[12], a[13], a[14], a[15]))
    };
    PeerHeader {
        peer_type,
        flags,
        distinguisher: u64::from_be_bytes(d),
        addr,
        asn: Asn(be32(ph, 26)),
        bgp_id: Ipv4Addr::from(be32(ph, 30)),
        time: Timestamp {
            secs: i64::from(be32(ph, 34)),
            micros: be32(ph, 38).min(999_999),
        },
    }
}

/// TLVs of 2-byte type, 2-byte length; Err(position) if one overruns.
fn parse_tlvs(b: &[u8]) -> Result<InfoTlvs, usize> {
    let mut out = Vec::new();
    let mut p = 0;
    while p < b.len() {
        let hdr = b.get(p..p + 4).ok_or(p)?;
        let kind = u16::from_be_bytes([hdr[0], hdr[1]]);
        let len = usize::from(u16::from_be_bytes([hdr[2], hdr[3]]));
        let v = b.get(p + 4..p + 4 + len).ok_or(p)?;
        out.push(InfoTlv {
            kind,
            value: v.to_vec(),
        });
        p += 4 + len;
    }
    Ok(InfoTlvs(out))
}

fn parse_stats(b: &[u8]) -> Result<Vec<Stat>, (usize, String)> {
    let count = b.get(..4).ok_or((0, "stats count truncated".to_string()))?;
    let count = u32::from_be_bytes([count[0], count[1], count[2], count[3]]);
    let tlvs = parse_tlvs(&b[4..]).map_err(|p| (4 + p, "stat TLV overruns the message".into()))?;
    if tlvs.0.len() != count as usize {
        return Err((0, format!("stats count {count} but {} TLVs", tlvs.0.len())));
    }
    let mut out = Vec::with_capacity(tlvs.0.len());
    for t in tlvs.0 {
        let v = &t.value;
        let (family, value) = match v.len() {
            4 => (None, u64::from(be32(v, 0))),
            8 => (None, u64::from(be32(v, 0)) << 32 | u64::from(be32(v, 4))),
            11 => (
                Some((u16::from_be_bytes([v[0], v[1]]), v[2])),
                u64::from(be32(v, 3)) << 32 | u64::from(be32(v, 7)),
            ),
            // Unknown layout: keep the type, value zero.
            _ => (None, 0),
        };
        out.push(Stat {
            kind: t.kind,
            family,
            value,
        });
    }
    Ok(out)
}

fn notification(b: &[u8]) -> Result<(u8, u8), (usize, String)> {
    match parse_message(b) {
        Ok((BgpMessage::Notification(n), _)) => Ok((n.code, n.subcode)),
        Ok((m, _)) => Err((0, format!("BGP {} where a NOTIFICATION belongs", m.name()))),
        Err(e) => Err((e.pos, format!("BGP NOTIFICATION: {e}"))),
    }
}

fn parse_peer_down(b: &[u8]) -> Result<PeerDownReason, (usize, String)> {
    let code = *b
        .first()
        .ok_or((0, "peer down reason missing".to_string()))?;
    let data = &b[1..];
    let shift = |(p, w): (usize, String)| (p + 1, w);
    Ok(match code {
        1 => {
            let (code, subcode) = notification(data).map_err(shift)?;
            PeerDownReason::LocalNotification { code, subcode }
        }
        2 => {
            let f = data
                .get(..2)
                .ok_or((1, "FSM event code truncated".to_string()))?;
            PeerDownReason::LocalFsm(u16::from_be_bytes([f[0], f[1]]))
        }
        3 => {
            let (code, subcode) = notification(data).map_err(shift)?;
            PeerDownReason::RemoteNotification { code, subcode }
        }
        4 => PeerDownReason::RemoteNoData,
        5 => PeerDownReason::Deconfigured,
        6 => PeerDownReason::LocalTlv(data.to_vec()),
        c => PeerDownReason::Other(c, data.to_vec()),
    })
}

fn parse_peer_up(b: &[u8], v6: bool) -> Result<PeerUp, (usize, String)> {
    let fixed = b
        .get(..20)
        .ok_or((0, "peer up addresses truncated".to_string()))?;
    let mut a = [0u8; 16];
    a.copy_from_slice(&fixed[..16]);
    let local_addr = if v6 {
        IpAddr::V6(Ipv6Addr::from(a))
    } else {
        IpAddr::V4(Ipv4Addr::new(a[12], a[13], a[14], a[15]))
    };
    let open_at = |p: usize| -> Result<(Open, usize), (usize, String)> {
        match parse_message(b.get(p..).unwrap_or(&[])) {
            Ok((BgpMessage::Open(o), n)) => Ok((o, n)),
            Ok((m, _)) => Err((p, format!("BGP {} where an OPEN belongs", m.name()))),
            Err(e) => Err((p + e.pos, format!("BGP OPEN: {e}"))),
        }
    };
    let (sent_open, n1) = open_at(20)?;
    let (received_open, n2) = open_at(20 + n1)?;
    let tp = 20 + n1 + n2;
    let info = parse_tlvs(&b[tp..]).map_err(|q| {
        (
            tp + q,
            "peer up information TLV overruns the message".into(),
        )
    })?;
    Ok(PeerUp {
        local_addr,
        local_port: u16::from_be_bytes([fixed[16], fixed[17]]),
        remote_port: u16::from_be_bytes([fixed[18], fixed[19]]),
        sent_open,
        received_open,
        info,
    })
}

/// Decodes every message of a complete byte buffer (e.g. a reassembled TCP
/// stream): the messages and errors in stream order, and the counters. A
/// partial message at the end is a (fatal) error.
pub fn decode_all(bytes: &[u8]) -> (Vec<Result<BmpMessage, BmpError>>, BmpStats) {
    let mut d = BmpDecoder::new();
    d.push(bytes);
    let mut out: Vec<_> = d.by_ref().collect();
    if let Some(e) = d.finish() {
        out.push(Err(e));
    }
    let stats = d.stats().clone();
    (out, stats)
}

/// A streaming BMP reader over any byte stream (file, TCP connection).
#[derive(Debug)]
pub struct BmpReader<R> {
    inner: R,
    dec: BmpDecoder,
    eof: bool,
    chunk: Vec<u8>,
}

impl<R: Read> BmpReader<R> {
    /// A reader over `inner`.
    pub fn new(inner: R) -> Self {
        BmpReader {
            inner,
            dec: BmpDecoder::new(),
            eof: false,
            chunk: vec![0; 64 * 1024],
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> &BmpStats {
        self.dec.stats()
    }
}

impl<R: Read> Iterator for BmpReader<R> {
    type Item = Result<BmpMessage, BmpError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(r) = self.dec.next() {
                return Some(r);
            }
            if self.eof || self.dec.is_broken() {
                return None;
            }
            match self.inner.read(&mut self.chunk) {
                Ok(0) => {
                    self.eof = true;
                    return self.dec.finish().map(Err);
                }
                Ok(n) => self.dec.push(&self.chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.eof = true;
                    let off = self.dec.offset() + self.dec.buffered() as u64;
                    return Some(Err(BmpError {
                        offset: off,
                        msg_offset: self.dec.offset(),
                        msg_type: None,
                        reason: format!("read error: {e}"),
                        fatal: true,
                    }));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn init_msg() -> Vec<u8> {
        let mut m = vec![3, 0, 0, 0, 0, 4, 0, 2, 0, 3, b'r', b't', b'r'];
        m[4] = m.len() as u8;
        m
    }

    #[test]
    fn version_1_or_2_loses_the_framing() {
        let mut s = init_msg();
        let mut old = init_msg();
        old[0] = 1;
        s.extend_from_slice(&old);
        s.extend_from_slice(&init_msg());
        let (msgs, st) = decode_all(&s);
        assert_eq!(msgs.len(), 2, "nothing after the version-1 header");
        let e = msgs[1].as_ref().unwrap_err();
        assert!(e.fatal && e.offset == 13, "{e:?}");
        assert!(st.broken);
    }

    #[test]
    fn initiation_then_bad_version_then_initiation() {
        let mut s = init_msg();
        let mut bad = init_msg();
        bad[0] = 4;
        s.extend_from_slice(&bad);
        s.extend_from_slice(&init_msg());
        let (msgs, st) = decode_all(&s);
        assert_eq!(msgs.len(), 3);
        let Ok(BmpMessage {
            body: BmpBody::Initiation(t),
            ..
        }) = &msgs[0]
        else {
            panic!("not init")
        };
        assert_eq!(t.sys_name().as_deref(), Some("rtr"));
        assert_eq!(msgs[1].as_ref().unwrap_err().offset, 13);
        assert!(msgs[2].is_ok());
        assert_eq!((st.initiation, st.errors), (2, 1));
    }

    #[test]
    fn absurd_length_breaks_the_stream() {
        let mut s = init_msg();
        s.extend_from_slice(&[3, 0, 0, 0, 2, 4]);
        s.extend_from_slice(&init_msg());
        let (msgs, st) = decode_all(&s);
        assert_eq!(msgs.len(), 2);
        assert!(msgs[1].as_ref().unwrap_err().fatal);
        assert!(st.broken);
    }

    #[test]
    fn byte_by_byte_push() {
        let s = init_msg();
        let mut d = BmpDecoder::new();
        for (i, b) in s.iter().enumerate() {
            d.push(&[*b]);
            let r = d.next();
            assert_eq!(r.is_some(), i == s.len() - 1);
        }
        assert!(d.finish().is_none());
    }
}
