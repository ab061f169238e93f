//! CAIDA AS relationships (`*.as-rel.txt`, `*.as-rel2.txt`), plain or
//! compressed (recognised from the content).
//!
//! Accepted formats:
//!
//! * **serial-1**: `<a>|<b>|<rel>` with `rel` -1 (`a` is a provider of `b`)
//!   or 0 (`a` and `b` are peers);
//! * **serial-2**: `<a>|<b>|<rel>|<source>` where `rel` may also be 1
//!   (siblings) and `source` (`bgp`, `mlp`, ...) is read and dropped.
//!
//! `#` lines are comments; the headers `# input clique: 174 209 ...` and
//! `# IXP ASes: 1200 4635 ...` are read into [`AsRelData::clique`] and
//! [`AsRelData::ixps`]. A line that is not `a|b|rel[|source]` with two AS
//! numbers and a known relationship is skipped and reported with its line
//! number. Lines are read into one reused buffer, without allocating.

use crate::input;
use crate::report::{excerpt, trim_bytes, LineReader, ParseReport, Position};
use bugyo_model::{AsLink, Asn, Relationship};
use std::io::{self, BufRead};
use std::path::Path;

/// The links and header lists of one AS-relationship file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AsRelData {
    /// The links, in file order.
    pub links: Vec<AsLink>,
    /// The clique (the transit-free ASes at the top of the hierarchy) from
    /// the `# input clique:` header, if present.
    pub clique: Vec<Asn>,
    /// The ASes identified as IXP route servers (`# IXP ASes:` header).
    pub ixps: Vec<Asn>,
}

/// Loads a CAIDA AS-relationship file (serial-1 or serial-2).
pub fn load(path: &Path) -> io::Result<(AsRelData, ParseReport)> {
    Ok(parse_reader(input::open(path)?))
}

/// Parses AS relationships from a string.
pub fn parse_str(s: &str) -> (AsRelData, ParseReport) {
    parse_reader(s.as_bytes())
}

/// Parses AS relationships from a (decompressed) reader.
pub fn parse_reader<R: BufRead>(reader: R) -> (AsRelData, ParseReport) {
    let mut report = ParseReport::new("CAIDA as-rel");
    let mut data = AsRelData::default();
    let mut lines = LineReader::new(reader);
    let (mut serial1, mut serial2) = (false, false);
    while let Some((n, raw)) = lines.next_line(&mut report) {
        let line = trim_bytes(raw);
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix(b"#") {
            header(comment, n, &mut data, &mut report);
            continue;
        }
        report.record();
        match link(line) {
            Ok((l, four)) => {
                if four {
                    serial2 = true;
                } else {
                    serial1 = true;
                }
                data.links.push(l);
            }
            Err(e) => report.skip(Position::line(n), format!("{e}: {}", excerpt(line))),
        }
    }
    report.format = match (serial1, serial2) {
        (true, false) => "CAIDA as-rel serial-1",
        (false, true) => "CAIDA as-rel serial-2",
        _ => "CAIDA as-rel",
    };
    (data, report)
}

fn header(comment: &[u8], n: u64, data: &mut AsRelData, report: &mut ParseReport) {
    let c = trim_bytes(comment);
    let (list, rest) = if let Some(rest) = strip_prefix_ci(c, b"input clique:") {
        (&mut data.clique, rest)
    } else if let Some(rest) = strip_prefix_ci(c, b"IXP ASes:") {
        (&mut data.ixps, rest)
    } else {
        return;
    };
    for tok in rest
        .split(|b| b.is_ascii_whitespace())
        .filter(|t| !t.is_empty())
    {
        match parse_u32(tok) {
            Some(a) => list.push(Asn(a)),
            None => report.problem(
                Position::line(n),
                format!("not an AS number in header: {}", excerpt(tok)),
            ),
        }
    }
}

fn strip_prefix_ci<'a>(s: &'a [u8], p: &[u8]) -> Option<&'a [u8]> {
    (s.len() >= p.len() && s[..p.len()].eq_ignore_ascii_case(p)).then(|| &s[p.len()..])
}

/// A decimal u32 (also `AS123`), without allocating.
fn parse_u32(b: &[u8]) -> Option<u32> {
    let b = trim_bytes(b);
    let b = strip_prefix_ci(b, b"AS").unwrap_or(b);
    if b.is_empty() || b.len() > 10 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u64::from(c - b'0');
    }
    u32::try_from(v).ok()
}

/// Parses `a|b|rel[|source]`; the flag says whether a source was present.
fn link(line: &[u8]) -> Result<(AsLink, bool), &'static str> {
    let mut f = line.split(|&b| b == b'|');
    let a = parse_u32(f.next().ok_or("empty line")?).ok_or("first AS is not an AS number")?;
    let b = parse_u32(f.next().ok_or("no second AS")?).ok_or("second AS is not an AS number")?;
    let rel = match trim_bytes(f.next().ok_or("no relationship")?) {
        b"-1" => Relationship::ProviderToCustomer,
        b"0" => Relationship::PeerToPeer,
        b"1" => Relationship::Sibling,
        _ => return Err("relationship is not -1, 0 or 1"),
    };
    let four = f.next().is_some();
    if f.next().is_some() {
        return Err("more than four fields");
    }
    Ok((
        AsLink {
            a: Asn(a),
            b: Asn(b),
            rel,
        },
        four,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial1_with_headers() {
        let s = "# input clique: 174 209 286\n# IXP ASes: 1200 4635\n# source:topology|BGP|20161102|ripe|rrc00\n1|11537|0\n1|2914|-1\n";
        let (d, r) = parse_str(s);
        assert!(r.is_clean(), "{r:?}");
        assert_eq!(r.format, "CAIDA as-rel serial-1");
        assert_eq!(d.clique, vec![Asn(174), Asn(209), Asn(286)]);
        assert_eq!(d.ixps, vec![Asn(1200), Asn(4635)]);
        assert_eq!(
            d.links[1],
            AsLink {
                a: Asn(1),
                b: Asn(2914),
                rel: Relationship::ProviderToCustomer
            }
        );
    }

    #[test]
    fn serial2_with_siblings_and_bad_lines() {
        let s = "# serial-2\n1|2|-1|bgp\r\n3|4|0|mlp\n5|6|1|bgp\n7|8|2|bgp\nx|9|0|bgp\n10|11\n12|4294967296|0\n13|14|0|bgp|extra\n15|16|0|bgp\n";
        let (d, r) = parse_str(s);
        assert_eq!(r.format, "CAIDA as-rel serial-2");
        assert_eq!((r.records, r.skipped), (9, 5));
        assert_eq!(d.links.len(), 4);
        assert_eq!(d.links[2].rel, Relationship::Sibling);
        let lines: Vec<_> = r.errors.iter().filter_map(|e| e.position.line).collect();
        assert_eq!(lines, vec![5, 6, 7, 8, 9]);
    }
}
