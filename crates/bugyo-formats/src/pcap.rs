//! A minimal reader of packet captures (pcap and pcapng) for replaying
//! captured BMP, BGP and IPFIX: link layers Ethernet (with VLAN tags),
//! Linux cooked capture (SLL and SLL2), raw IP and BSD loopback; IPv4 and
//! IPv6; TCP and UDP.
//!
//! [`read_capture`] reassembles each TCP direction (flow) into one byte
//! stream by sequence number (in-order data, retransmissions and overlaps
//! dropped, out-of-order segments held until the gap fills; a gap that
//! never fills is counted and skipped) and collects UDP datagrams. Damaged
//! packets are counted with their byte offsets and skipped; nothing panics.

use bugyo_model::Timestamp;
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;

/// A problem in a capture file, at a byte offset.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("capture at byte {offset}: {reason}")]
pub struct PcapError {
    /// Byte offset of the block or packet record.
    pub offset: u64,
    /// What is wrong.
    pub reason: String,
}

fn perr(offset: usize, reason: impl Into<String>) -> PcapError {
    PcapError {
        offset: offset as u64,
        reason: reason.into(),
    }
}

/// One captured frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Offset of its record in the file.
    pub offset: usize,
    /// Capture time.
    pub time: Timestamp,
    /// Link-layer type (LINKTYPE_* number).
    pub linktype: u32,
    /// The captured bytes.
    pub data: &'a [u8],
}

/// The frames of a pcap or pcapng file. Fails on an unknown file header;
/// a damaged record ends the list with an error.
pub fn frames(b: &[u8]) -> Result<(Vec<Frame<'_>>, Option<PcapError>), PcapError> {
    let magic = b
        .get(..4)
        .ok_or_else(|| perr(0, "file shorter than 4 bytes"))?;
    match magic {
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => Ok(pcap_frames(b, true)),
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => Ok(pcap_frames(b, false)),
        [0x0a, 0x0d, 0x0d, 0x0a] => Ok(pcapng_frames(b)),
        _ => Err(perr(
            0,
            format!("not a pcap or pcapng file (magic {magic:02x?})"),
        )),
    }
}

fn rd32(b: &[u8], at: usize, be: bool) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    let a = [s[0], s[1], s[2], s[3]];
    Some(if be {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    })
}

fn rd16(b: &[u8], at: usize, be: bool) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    let a = [s[0], s[1]];
    Some(if be {
        u16::from_be_bytes(a)
    } else {
        u16::from_le_bytes(a)
    })
}

fn pcap_frames(b: &[u8], be: bool) -> (Vec<Frame<'_>>, Option<PcapError>) {
    let mut out = Vec::new();
    let nanos = matches!(
        b.get(..4),
        Some([0xa1, 0xb2, 0x3c, 0x4d] | [0x4d, 0x3c, 0xb2, 0xa1])
    );
    let Some(linktype) = rd32(b, 20, be) else {
        return (out, Some(perr(0, "file header truncated")));
    };
    let mut p = 24;
    while p < b.len() {
        let hdr = (rd32(b, p, be), rd32(b, p + 4, be), rd32(b, p + 8, be));
        let (Some(sec), Some(frac), Some(incl)) = hdr else {
            return (out, Some(perr(p, "record header truncated")));
        };
        let start = p + 16;
        let Some(data) = b.get(start..start.saturating_add(incl as usize)) else {
            return (
                out,
                Some(perr(p, format!("record of {incl} bytes truncated"))),
            );
        };
        let micros = if nanos { frac / 1000 } else { frac };
        out.push(Frame {
            offset: p,
            time: Timestamp {
                secs: i64::from(sec),
                micros: micros.min(999_999),
            },
            linktype,
            data,
        });
        p = start + data.len();
    }
    (out, None)
}

fn pcapng_frames(b: &[u8]) -> (Vec<Frame<'_>>, Option<PcapError>) {
    let mut out = Vec::new();
    // Per interface: link type and ticks per second.
    let mut ifaces: Vec<(u32, u64)> = Vec::new();
    let mut be = true;
    let mut p = 0;
    while p < b.len() {
        let Some(raw_ty) = rd32(b, p, true) else {
            return (out, Some(perr(p, "block header truncated")));
        };
        if raw_ty == 0x0a0d_0d0a {
            match b.get(p + 8..p + 12) {
                Some([0x1a, 0x2b, 0x3c, 0x4d]) => be = true,
                Some([0x4d, 0x3c, 0x2b, 0x1a]) => be = false,
                _ => return (out, Some(perr(p, "bad byte-order magic"))),
            }
            ifaces.clear();
        }
        let (Some(ty), Some(len)) = (rd32(b, p, be), rd32(b, p + 4, be)) else {
            return (out, Some(perr(p, "block header truncated")));
        };
        let len = len as usize;
        if len < 12 || !len.is_multiple_of(4) {
            return (out, Some(perr(p, format!("bad block length {len}"))));
        }
        let Some(block) = b.get(p..p.saturating_add(len)) else {
            return (
                out,
                Some(perr(p, format!("block of {len} bytes truncated"))),
            );
        };
        let body = &block[8..len - 4];
        match ty {
            1 => {
                let lt = u32::from(rd16(body, 0, be).unwrap_or(0));
                let mut tick = 1_000_000u64;
                // Options after linktype(2), reserved(2), snaplen(4).
                let mut q = 8;
                while let (Some(code), Some(olen)) = (rd16(body, q, be), rd16(body, q + 2, be)) {
                    if code == 0 {
                        break;
                    }
                    let olen = usize::from(olen);
                    if code == 9 {
                        if let Some(&r) = body.get(q + 4) {
                            let e = u32::from(r & 0x7f);
                            tick = if r & 0x80 != 0 {
                                2u64.checked_pow(e)
                            } else {
                                10u64.checked_pow(e)
                            }
                            .unwrap_or(1_000_000)
                            .max(1);
                        }
                    }
                    q += 4 + olen.div_ceil(4) * 4;
                }
                ifaces.push((lt, tick));
            }
            6 | 2 => {
                // EPB: if_id(4) ts_hi ts_lo caplen origlen; obsolete PB:
                // if_id(2) drops(2) ts_hi ts_lo caplen origlen.
                let if_id = if ty == 6 {
                    rd32(body, 0, be).map(|v| v as usize)
                } else {
                    rd16(body, 0, be).map(usize::from)
                };
                let (Some(if_id), Some(hi), Some(lo), Some(cap)) = (
                    if_id,
                    rd32(body, 4, be),
                    rd32(body, 8, be),
                    rd32(body, 12, be),
                ) else {
                    return (out, Some(perr(p, "packet block truncated")));
                };
                let Some(&(linktype, tick)) = ifaces.get(if_id) else {
                    return (out, Some(perr(p, format!("unknown interface {if_id}"))));
                };
                let Some(data) = body.get(20..20usize.saturating_add(cap as usize)) else {
                    return (out, Some(perr(p, "packet data overruns the block")));
                };
                let ticks = u64::from(hi) << 32 | u64::from(lo);
                let secs = ticks / tick;
                let micros = (ticks % tick).saturating_mul(1_000_000) / tick;
                out.push(Frame {
                    offset: p,
                    time: Timestamp {
                        secs: i64::try_from(secs).unwrap_or(i64::MAX),
                        micros: (micros as u32).min(999_999),
                    },
                    linktype,
                    data,
                });
            }
            3 => {
                let Some(&(linktype, _)) = ifaces.first() else {
                    return (
                        out,
                        Some(perr(p, "simple packet block before any interface")),
                    );
                };
                out.push(Frame {
                    offset: p,
                    time: Timestamp::default(),
                    linktype,
                    data: body.get(4..).unwrap_or(&[]),
                });
            }
            _ => {}
        }
        p += len;
    }
    (out, None)
}

/// A transport-layer packet decoded from a frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transport<'a> {
    /// A TCP segment.
    Tcp {
        /// Source and destination.
        flow: Flow,
        /// Sequence number.
        seq: u32,
        /// Flags byte (FIN 1, SYN 2, RST 4, PSH 8, ACK 16).
        flags: u8,
        /// Payload.
        payload: &'a [u8],
    },
    /// A UDP datagram.
    Udp {
        /// Source and destination.
        flow: Flow,
        /// Payload.
        payload: &'a [u8],
    },
    /// Another protocol, a non-first fragment, or a non-IP frame.
    Other,
}

/// One direction of a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Flow {
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
}

/// Decodes a frame down to TCP or UDP. Err(reason) for damaged headers.
pub fn decode_frame(linktype: u32, data: &[u8]) -> Result<Transport<'_>, String> {
    let (ethertype, ip) = match linktype {
        1 => {
            let mut et = rd16(data, 12, true).ok_or("Ethernet header truncated")?;
            let mut p = 14;
            while et == 0x8100 || et == 0x88a8 {
                et = rd16(data, p + 2, true).ok_or("VLAN tag truncated")?;
                p += 4;
            }
            (et, data.get(p..).ok_or("Ethernet header truncated")?)
        }
        113 => (
            rd16(data, 14, true).ok_or("SLL header truncated")?,
            data.get(16..).ok_or("SLL header truncated")?,
        ),
        276 => (
            rd16(data, 0, true).ok_or("SLL2 header truncated")?,
            data.get(20..).ok_or("SLL2 header truncated")?,
        ),
        101 | 12 | 14 | 228 | 229 => (0, data),
        0 | 108 => (0, data.get(4..).ok_or("loopback header truncated")?),
        other => return Err(format!("unsupported link type {other}")),
    };
    let version = ip.first().map(|v| v >> 4);
    match (ethertype, version) {
        (0x0800, _) | (0, Some(4)) => decode_ipv4(ip),
        (0x86dd, _) | (0, Some(6)) => decode_ipv6(ip),
        _ => Ok(Transport::Other),
    }
}

fn decode_ipv4(ip: &[u8]) -> Result<Transport<'_>, String> {
    let h = ip.get(..20).ok_or("IPv4 header truncated")?;
    let ihl = usize::from(h[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
    if ihl < 20 || total < ihl {
        return Err(format!("bad IPv4 lengths (header {ihl}, total {total})"));
    }
    let frag = u16::from_be_bytes([h[6], h[7]]);
    if frag & 0x1fff != 0 || frag & 0x2000 != 0 {
        // Fragments are not reassembled.
        return Ok(Transport::Other);
    }
    let src = IpAddr::V4(Ipv4Addr::new(h[12], h[13], h[14], h[15]));
    let dst = IpAddr::V4(Ipv4Addr::new(h[16], h[17], h[18], h[19]));
    // Ethernet may pad; a capture may cut (snaplen): take what is there.
    let end = total.min(ip.len());
    let payload = ip.get(ihl..end).ok_or("IPv4 header overruns the packet")?;
    decode_l4(h[9], src, dst, payload)
}

fn decode_ipv6(ip: &[u8]) -> Result<Transport<'_>, String> {
    let h = ip.get(..40).ok_or("IPv6 header truncated")?;
    let plen = usize::from(u16::from_be_bytes([h[4], h[5]]));
    let mut a = [0u8; 16];
    a.copy_from_slice(&h[8..24]);
    let src = IpAddr::V6(Ipv6Addr::from(a));
    a.copy_from_slice(&h[24..40]);
    let dst = IpAddr::V6(Ipv6Addr::from(a));
    let end = (40 + plen).min(ip.len());
    let mut rest = &ip[40..end];
    let mut next = h[6];
    loop {
        match next {
            0 | 43 | 60 => {
                let e = rest.get(..2).ok_or("IPv6 extension header truncated")?;
                let l = (usize::from(e[1]) + 1) * 8;
                next = e[0];
                rest = rest.get(l..).ok_or("IPv6 extension header truncated")?;
            }
            44 => return Ok(Transport::Other),
            _ => return decode_l4(next, src, dst, rest),
        }
    }
}

fn decode_l4<'a>(
    proto: u8,
    src: IpAddr,
    dst: IpAddr,
    b: &'a [u8],
) -> Result<Transport<'a>, String> {
    match proto {
        6 => {
            let h = b.get(..20).ok_or("TCP header truncated")?;
            let off = usize::from(h[12] >> 4) * 4;
            let payload = b
                .get(off.max(20)..)
                .ok_or("TCP header overruns the packet")?;
            Ok(Transport::Tcp {
                flow: Flow {
                    src: SocketAddr::new(src, u16::from_be_bytes([h[0], h[1]])),
                    dst: SocketAddr::new(dst, u16::from_be_bytes([h[2], h[3]])),
                },
                seq: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
                flags: h[13],
                payload,
            })
        }
        17 => {
            let h = b.get(..8).ok_or("UDP header truncated")?;
            let ulen = usize::from(u16::from_be_bytes([h[4], h[5]]));
            let end = if ulen >= 8 {
                ulen.min(b.len())
            } else {
                b.len()
            };
            Ok(Transport::Udp {
                flow: Flow {
                    src: SocketAddr::new(src, u16::from_be_bytes([h[0], h[1]])),
                    dst: SocketAddr::new(dst, u16::from_be_bytes([h[2], h[3]])),
                },
                payload: &b[8..end],
            })
        }
        _ => Ok(Transport::Other),
    }
}

/// One direction of a TCP connection, reassembled.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TcpStream {
    /// Sender and receiver (`None` only before the first segment).
    pub flow: Option<Flow>,
    /// The bytes, in sequence order.
    pub data: Vec<u8>,
    /// Time of the first segment.
    pub first_time: Timestamp,
    /// Time of the last segment.
    pub last_time: Timestamp,
    /// Segments with payload.
    pub segments: u64,
    /// Segments (or parts) already received: retransmissions, overlaps.
    pub retransmitted: u64,
    /// Gaps never filled (missing data skipped at the end).
    pub gaps: u64,
    /// A SYN was seen (the stream starts at its beginning).
    pub syn: bool,
    /// A FIN or RST was seen.
    pub closed: bool,
    next_seq: Option<u32>,
    pending: BTreeMap<u32, Vec<u8>>,
}

impl TcpStream {
    fn add(&mut self, seq: u32, flags: u8, payload: &[u8]) {
        if flags & 0x02 != 0 {
            self.syn = true;
            self.next_seq = Some(seq.wrapping_add(1));
        }
        if flags & 0x05 != 0 {
            self.closed = true;
        }
        if payload.is_empty() {
            return;
        }
        self.segments += 1;
        // Replay tools (pmacct's traffic reproducer) put the first data at
        // the SYN's own sequence number, or data on the SYN itself: take the
        // stream as starting there rather than losing its first byte.
        if self.data.is_empty()
            && self.pending.is_empty()
            && self.syn
            && self.next_seq == Some(seq.wrapping_add(1))
        {
            self.next_seq = Some(seq);
        }
        let next = *self.next_seq.get_or_insert(seq);
        if seq.wrapping_sub(next) as i32 > 0 {
            let keep = self
                .pending
                .get(&seq)
                .is_none_or(|p| p.len() < payload.len());
            if keep {
                self.pending.insert(seq, payload.to_vec());
            }
            return;
        }
        self.append_from(next, seq, payload);
        self.drain_pending();
    }

    /// Appends the part of `payload` (starting at `seq`) past `next`.
    fn append_from(&mut self, next: u32, seq: u32, payload: &[u8]) {
        let skip = next.wrapping_sub(seq) as usize;
        if skip >= payload.len() {
            self.retransmitted += 1;
            return;
        }
        if skip > 0 {
            self.retransmitted += 1;
        }
        let new = &payload[skip..];
        self.data.extend_from_slice(new);
        self.next_seq = Some(next.wrapping_add(new.len() as u32));
    }

    /// Appends held segments that now follow on.
    fn drain_pending(&mut self) {
        while let Some(next) = self.next_seq {
            let ready = self
                .pending
                .keys()
                .copied()
                .find(|&k| k.wrapping_sub(next) as i32 <= 0);
            let Some(k) = ready else {
                break;
            };
            if let Some(seg) = self.pending.remove(&k) {
                self.append_from(next, k, &seg);
            }
        }
    }

    /// At the end of the capture: skips unfilled gaps, in sequence order.
    fn finish(&mut self) {
        while let Some(next) = self.next_seq {
            let first = self
                .pending
                .keys()
                .copied()
                .min_by_key(|&k| k.wrapping_sub(next));
            let Some(k) = first else {
                break;
            };
            self.gaps += 1;
            self.next_seq = Some(k);
            self.drain_pending();
        }
    }
}

/// UDP datagrams and reassembled TCP streams of a capture.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capture {
    /// TCP streams, one per direction, in order of first appearance.
    pub streams: Vec<TcpStream>,
    /// UDP datagrams in capture order.
    pub datagrams: Vec<UdpDatagram>,
    /// Counters.
    pub stats: PcapStats,
    /// Damaged packets (skipped) and a damaged end of file, with offsets.
    pub errors: Vec<PcapError>,
}

impl Capture {
    /// The TCP streams to a destination port (e.g. 1790 for BMP), non-empty.
    pub fn streams_to_port(&self, port: u16) -> impl Iterator<Item = &TcpStream> {
        self.streams
            .iter()
            .filter(move |s| !s.data.is_empty() && s.flow.is_some_and(|f| f.dst.port() == port))
    }
}

/// One UDP datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UdpDatagram {
    /// Capture time.
    pub time: Timestamp,
    /// Sender and receiver.
    pub flow: Flow,
    /// Payload.
    pub payload: Vec<u8>,
}

/// Counters of a capture.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PcapStats {
    /// Frames read.
    pub frames: u64,
    /// TCP segments.
    pub tcp: u64,
    /// UDP datagrams.
    pub udp: u64,
    /// Frames of other protocols, non-IP, or IP fragments.
    pub other: u64,
    /// Frames skipped as damaged.
    pub damaged: u64,
}

/// Reads a whole capture held in memory.
pub fn read_capture(bytes: &[u8]) -> Result<Capture, PcapError> {
    let (frames, end_err) = frames(bytes)?;
    let mut cap = Capture::default();
    let mut index: HashMap<Flow, usize> = HashMap::new();
    for f in &frames {
        cap.stats.frames += 1;
        match decode_frame(f.linktype, f.data) {
            Err(reason) => {
                cap.stats.damaged += 1;
                cap.errors.push(perr(f.offset, reason));
            }
            Ok(Transport::Other) => cap.stats.other += 1,
            Ok(Transport::Udp { flow, payload }) => {
                cap.stats.udp += 1;
                cap.datagrams.push(UdpDatagram {
                    time: f.time,
                    flow,
                    payload: payload.to_vec(),
                });
            }
            Ok(Transport::Tcp {
                flow,
                seq,
                flags,
                payload,
            }) => {
                cap.stats.tcp += 1;
                let i = *index.entry(flow).or_insert_with(|| {
                    cap.streams.push(TcpStream {
                        flow: Some(flow),
                        first_time: f.time,
                        ..TcpStream::default()
                    });
                    cap.streams.len() - 1
                });
                if let Some(s) = cap.streams.get_mut(i) {
                    s.last_time = f.time;
                    s.add(seq, flags, payload);
                }
            }
        }
    }
    for s in &mut cap.streams {
        s.finish();
    }
    cap.errors.extend(end_err);
    Ok(cap)
}

/// Reads a capture file.
pub fn read_capture_file(path: &Path) -> Result<Capture, PcapError> {
    let bytes = std::fs::read(path).map_err(|e| perr(0, format!("{}: {e}", path.display())))?;
    read_capture(&bytes)
}
