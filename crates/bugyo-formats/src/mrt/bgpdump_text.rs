//! Reading `bgpdump -m` text back into [`MrtEntry`] values, so that tests
//! and demos can rebuild MRT files from published bgpdump output.
//!
//! Each line becomes one entry (a `B` line a [`RibEntry`], an `A` or `W`
//! line a one-prefix [`UpdateEntry`], a `STATE` line a [`StateChange`]).
//! What bgpdump's text cannot tell apart is read as absent: a LOCAL_PREF or
//! MED of 0 and the next hop 255.255.255.255. Bad lines are errors with
//! their line number; [`TextReader`] skips and counts them.

use super::{MrtEntry, Nlri, RibEntry, RibKind, StateChange, UpdateEntry};
use bugyo_model::{
    Aggregator, AsPath, Asn, Community, Origin, PathAttributes, Peer, Prefix, Segment, SegmentKind,
    Timestamp,
};
use std::collections::HashMap;
use std::io::BufRead;
use std::net::IpAddr;
use std::sync::Arc;

/// A bad line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct TextError {
    /// 1-based line number.
    pub line: u64,
    /// What was wrong.
    pub reason: String,
}

/// Parses an AS path in bgpdump notation (`1 2 {3,4} (5 6) [7,8]`).
pub fn parse_as_path(s: &str) -> Result<AsPath, String> {
    let mut segments: Vec<Segment> = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    let num = |b: &[u8], i: &mut usize| -> Result<Asn, String> {
        let st = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        std::str::from_utf8(&b[st..*i])
            .ok()
            .and_then(|t| t.parse::<u32>().ok())
            .map(Asn)
            .ok_or_else(|| format!("bad AS number in path {s:?}"))
    };
    while i < b.len() {
        match b[i] {
            b' ' => i += 1,
            open @ (b'{' | b'(' | b'[') => {
                let (close, kind, sep) = match open {
                    b'{' => (b'}', SegmentKind::Set, b','),
                    b'(' => (b')', SegmentKind::ConfedSequence, b' '),
                    _ => (b']', SegmentKind::ConfedSet, b','),
                };
                i += 1;
                let mut asns = Vec::new();
                loop {
                    if i >= b.len() {
                        return Err(format!("unclosed segment in path {s:?}"));
                    }
                    if b[i] == close {
                        i += 1;
                        break;
                    }
                    if b[i] == sep {
                        i += 1;
                        continue;
                    }
                    asns.push(num(b, &mut i)?);
                }
                segments.push(Segment { kind, asns });
            }
            c if c.is_ascii_digit() => {
                let a = num(b, &mut i)?;
                match segments.last_mut() {
                    Some(Segment {
                        kind: SegmentKind::Sequence,
                        asns,
                    }) => asns.push(a),
                    _ => segments.push(Segment {
                        kind: SegmentKind::Sequence,
                        asns: vec![a],
                    }),
                }
            }
            _ => return Err(format!("unexpected character in path {s:?}")),
        }
    }
    Ok(AsPath { segments })
}

fn parse_time(s: &str) -> Result<Timestamp, String> {
    let bad = || format!("bad time {s:?}");
    match s.split_once('.') {
        Some((a, b)) => {
            if b.len() != 6 {
                return Err(bad());
            }
            Ok(Timestamp {
                secs: a.parse().map_err(|_| bad())?,
                micros: b.parse().map_err(|_| bad())?,
            })
        }
        None => Ok(Timestamp::from_secs(s.parse().map_err(|_| bad())?)),
    }
}

fn parse_u32(s: &str, what: &str) -> Result<u32, String> {
    s.parse().map_err(|_| format!("bad {what} {s:?}"))
}

/// Parses the attribute fields `aspath|origin|nexthop|lp|med|comm|AG|agg`.
fn parse_attrs(f: &[&str], legacy: bool) -> Result<PathAttributes, String> {
    let need = if legacy { 7 } else { 8 };
    if f.len() < need {
        return Err(format!("{} attribute fields, want {need}", f.len()));
    }
    let mut a = PathAttributes {
        as_path: parse_as_path(f[0])?,
        ..Default::default()
    };
    a.origin = Some(match f[1] {
        "IGP" => Origin::Igp,
        "EGP" => Origin::Egp,
        "INCOMPLETE" => Origin::Incomplete,
        o => return Err(format!("bad origin {o:?}")),
    });
    let nh: IpAddr = f[2]
        .parse()
        .map_err(|_| format!("bad next hop {:?}", f[2]))?;
    a.next_hop = if nh == IpAddr::V4(std::net::Ipv4Addr::BROADCAST) {
        None
    } else {
        Some(nh)
    };
    a.local_pref = Some(parse_u32(f[3], "local preference")?).filter(|&v| v != 0);
    if legacy && f[4].contains(':') {
        return Err("legacy line with communities glued to the MED".into());
    }
    a.med = Some(parse_u32(f[4], "MED")?).filter(|&v| v != 0);
    let (comm, ag, agg) = if legacy {
        ("", f[5], f[6])
    } else {
        (f[5], f[6], f[7])
    };
    for c in comm.split(' ').filter(|c| !c.is_empty()) {
        a.communities.push(Community(match c {
            "no-export" => 0xFFFF_FF01,
            "no-advertise" => 0xFFFF_FF02,
            "local-AS" => 0xFFFF_FF03,
            _ => {
                let (x, y) = c
                    .split_once(':')
                    .ok_or_else(|| format!("bad community {c:?}"))?;
                let x: u16 = x.parse().map_err(|_| format!("bad community {c:?}"))?;
                let y: u16 = y.parse().map_err(|_| format!("bad community {c:?}"))?;
                (u32::from(x) << 16) | u32::from(y)
            }
        }));
    }
    a.atomic_aggregate = match ag {
        "AG" => true,
        "NAG" => false,
        x => return Err(format!("bad atomic aggregate field {x:?}")),
    };
    if !agg.is_empty() {
        let (x, y) = agg
            .split_once(' ')
            .ok_or_else(|| format!("bad aggregator {agg:?}"))?;
        a.aggregator = Some(Aggregator {
            asn: Asn(parse_u32(x, "aggregator AS")?),
            addr: y
                .parse()
                .map_err(|_| format!("bad aggregator address {y:?}"))?,
        });
    }
    Ok(a)
}

/// Parses one line (without its newline), sharing attributes through `cache`
/// (keyed by the attribute part of the line).
pub fn parse_line_cached(
    line: &str,
    cache: &mut HashMap<String, Arc<PathAttributes>>,
) -> Result<MrtEntry, String> {
    let f: Vec<&str> = line.split('|').collect();
    if f.len() < 6 {
        return Err(format!("{} fields, want at least 6", f.len()));
    }
    let label = f[0];
    let time = parse_time(f[1])?;
    let (kind, ap, legacy, extended, outgoing) = match label {
        "TABLE_DUMP" => (Some(RibKind::TableDump), false, false, false, false),
        "TABLE_DUMP2" => (Some(RibKind::TableDumpV2), false, false, false, false),
        "TABLE_DUMP2_AP" => (Some(RibKind::TableDumpV2AddPath), true, false, false, false),
        "BGP" => (None, false, true, false, false),
        _ => {
            let rest = label
                .strip_prefix("BGP4MP")
                .ok_or_else(|| format!("unknown record type {label:?}"))?;
            let (et, rest) = match rest.strip_prefix("_ET") {
                Some(r) => (true, r),
                None => (false, rest),
            };
            let (local, rest) = match rest.strip_prefix("_LOCAL") {
                Some(r) => (true, r),
                None => (false, rest),
            };
            let ap = match rest {
                "" => false,
                "_AP" => true,
                _ => return Err(format!("unknown record type {label:?}")),
            };
            (None, ap, false, et, local)
        }
    };
    if extended != f[1].contains('.') {
        return Err(format!("time {:?} does not fit record type {label}", f[1]));
    }
    let addr: IpAddr = f[3]
        .parse()
        .map_err(|_| format!("bad peer address {:?}", f[3]))?;
    let peer = Peer::new(Asn(parse_u32(f[4], "peer AS")?), addr);
    let prefix_at = |i: usize| -> Result<Prefix, String> {
        let p = f.get(i).ok_or("missing prefix")?;
        let (a, l) = p
            .split_once('/')
            .ok_or_else(|| format!("bad prefix {p:?}"))?;
        let a: IpAddr = a.parse().map_err(|_| format!("bad prefix {p:?}"))?;
        let l: u8 = l.parse().map_err(|_| format!("bad prefix {p:?}"))?;
        Prefix::new(a, l).map_err(|e| e.to_string())
    };
    let mut attrs_of = |from: usize| -> Result<Arc<PathAttributes>, String> {
        let key_fields = &f[from..];
        if key_fields.last() != Some(&"") {
            return Err("line does not end with '|'".into());
        }
        let key = key_fields.join("|");
        if let Some(a) = cache.get(&key) {
            return Ok(a.clone());
        }
        let a = Arc::new(parse_attrs(key_fields, legacy)?);
        if cache.len() > 1 << 16 {
            cache.clear();
        }
        cache.insert(key, a.clone());
        Ok(a)
    };
    match (f[2], kind) {
        ("B", Some(kind)) => {
            let prefix = prefix_at(5)?;
            let path_id = if ap {
                Some(parse_u32(f.get(6).ok_or("missing path id")?, "path id")?)
            } else {
                None
            };
            let attrs = attrs_of(if ap { 7 } else { 6 })?;
            Ok(MrtEntry::Rib(RibEntry {
                time,
                kind,
                peer,
                prefix,
                path_id,
                attrs,
                originated: time,
            }))
        }
        ("A", None) => {
            let prefix = prefix_at(5)?;
            let path_id = if ap {
                Some(parse_u32(f.get(6).ok_or("missing path id")?, "path id")?)
            } else {
                None
            };
            let attrs = attrs_of(if ap { 7 } else { 6 })?;
            Ok(MrtEntry::Update(UpdateEntry {
                time,
                extended,
                peer,
                announced: vec![Nlri { prefix, path_id }],
                attrs: Some(attrs),
                outgoing,
                legacy,
                ..Default::default()
            }))
        }
        ("W", None) => {
            let prefix = prefix_at(5)?;
            let want = if ap { 7 } else { 6 };
            if f.len() != want {
                return Err(format!("{} fields in a W line, want {want}", f.len()));
            }
            let path_id = if ap {
                Some(parse_u32(f[6], "path id")?)
            } else {
                None
            };
            Ok(MrtEntry::Update(UpdateEntry {
                time,
                extended,
                peer,
                withdrawn: vec![Nlri { prefix, path_id }],
                outgoing,
                legacy,
                ..Default::default()
            }))
        }
        ("STATE", None) => {
            if f.len() != 7 {
                return Err(format!("{} fields in a STATE line, want 7", f.len()));
            }
            let old = f[5].parse().map_err(|_| format!("bad state {:?}", f[5]))?;
            let new = f[6].parse().map_err(|_| format!("bad state {:?}", f[6]))?;
            Ok(MrtEntry::State(StateChange {
                time,
                extended,
                peer,
                old,
                new,
                legacy,
            }))
        }
        (k, _) => Err(format!("entry kind {k:?} does not fit record type {label}")),
    }
}

/// Parses one line without sharing attributes.
pub fn parse_line(line: &str) -> Result<MrtEntry, String> {
    parse_line_cached(line, &mut HashMap::new())
}

/// Counts kept by a [`TextReader`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TextStats {
    /// Lines read.
    pub lines: u64,
    /// Entries produced.
    pub entries: u64,
    /// Lines skipped as bad.
    pub skipped: u64,
    /// The first [`super::KEEP_ERRORS`] bad lines.
    pub errors: Vec<TextError>,
}

/// Reads `bgpdump -m` text line by line; bad lines are yielded as errors,
/// counted, and skipped.
pub struct TextReader<R: BufRead> {
    r: R,
    line: String,
    stats: TextStats,
    cache: HashMap<String, Arc<PathAttributes>>,
}

impl<R: BufRead> TextReader<R> {
    /// A reader over `r` (use [`crate::input::open`] for compressed files).
    pub fn new(r: R) -> Self {
        TextReader {
            r,
            line: String::new(),
            stats: TextStats::default(),
            cache: HashMap::new(),
        }
    }

    /// What has been read so far.
    pub fn stats(&self) -> &TextStats {
        &self.stats
    }
}

impl<R: BufRead> Iterator for TextReader<R> {
    type Item = Result<MrtEntry, TextError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.line.clear();
            match self.r.read_line(&mut self.line) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => {
                    self.stats.lines += 1;
                    self.stats.skipped += 1;
                    return Some(Err(TextError {
                        line: self.stats.lines,
                        reason: format!("read error: {e}"),
                    }));
                }
            }
            self.stats.lines += 1;
            let l = self.line.trim_end_matches(['\n', '\r']);
            if l.is_empty() {
                continue;
            }
            return Some(match parse_line_cached(l, &mut self.cache) {
                Ok(e) => {
                    self.stats.entries += 1;
                    Ok(e)
                }
                Err(reason) => {
                    let e = TextError {
                        line: self.stats.lines,
                        reason,
                    };
                    self.stats.skipped += 1;
                    if self.stats.errors.len() < super::KEEP_ERRORS {
                        self.stats.errors.push(e.clone());
                    }
                    Err(e)
                }
            });
        }
    }
}
