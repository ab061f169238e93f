//! AS paths: the ordered segments of the AS_PATH attribute (RFC 4271), with
//! the questions detection asks of them — origin, neighbour, loops, prepends.

use crate::Asn;
use std::fmt;

/// The kind of an AS_PATH segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SegmentKind {
    /// AS_SET (type 1): unordered, from aggregation.
    Set,
    /// AS_SEQUENCE (type 2): the ordinary path.
    Sequence,
    /// AS_CONFED_SEQUENCE (type 3, RFC 5065).
    ConfedSequence,
    /// AS_CONFED_SET (type 4, RFC 5065).
    ConfedSet,
}

/// One segment of an AS path.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Segment {
    /// Set, sequence or a confederation variant.
    pub kind: SegmentKind,
    /// The ASNs, in wire order.
    pub asns: Vec<Asn>,
}

/// An AS path, first segment nearest to the receiver.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AsPath {
    /// The segments in wire order.
    pub segments: Vec<Segment>,
}

impl AsPath {
    /// A path of one AS_SEQUENCE.
    pub fn from_sequence(asns: impl IntoIterator<Item = u32>) -> AsPath {
        let asns: Vec<Asn> = asns.into_iter().map(Asn).collect();
        if asns.is_empty() {
            return AsPath::default();
        }
        AsPath {
            segments: vec![Segment {
                kind: SegmentKind::Sequence,
                asns,
            }],
        }
    }

    /// True when there is no AS at all (an iBGP-learned or local route).
    pub fn is_empty(&self) -> bool {
        self.segments.iter().all(|s| s.asns.is_empty())
    }

    /// The origin AS: the last AS of the path if the path ends in an
    /// AS_SEQUENCE. A path ending in an AS_SET has no single origin
    /// (RFC 6811 treats it as NONE).
    pub fn origin(&self) -> Option<Asn> {
        let last = self.segments.iter().rev().find(|s| !s.asns.is_empty())?;
        match last.kind {
            SegmentKind::Sequence => last.asns.last().copied(),
            _ => None,
        }
    }

    /// The first AS (the neighbour that sent the route), skipping
    /// confederation segments.
    pub fn first(&self) -> Option<Asn> {
        self.segments
            .iter()
            .find(|s| s.kind == SegmentKind::Sequence && !s.asns.is_empty())
            .and_then(|s| s.asns.first().copied())
    }

    /// True if any segment is an AS_SET or AS_CONFED_SET.
    pub fn has_set(&self) -> bool {
        self.segments
            .iter()
            .any(|s| matches!(s.kind, SegmentKind::Set | SegmentKind::ConfedSet))
    }

    /// The AS_SEQUENCE hops with prepending collapsed, receiver first: the
    /// AS-level path that relationship checks walk. Confederation segments
    /// are skipped; an AS_SET ends the walk.
    pub fn hops(&self) -> Vec<Asn> {
        let mut out: Vec<Asn> = Vec::with_capacity(8);
        for seg in &self.segments {
            match seg.kind {
                SegmentKind::Sequence => {
                    for &a in &seg.asns {
                        if out.last() != Some(&a) {
                            out.push(a);
                        }
                    }
                }
                SegmentKind::ConfedSequence | SegmentKind::ConfedSet => {}
                SegmentKind::Set => break,
            }
        }
        out
    }

    /// Number of ASNs in the path as written (prepends counted), sets as one.
    pub fn len_written(&self) -> usize {
        self.segments
            .iter()
            .map(|s| match s.kind {
                SegmentKind::Sequence => s.asns.len(),
                SegmentKind::Set => 1,
                _ => 0,
            })
            .sum()
    }

    /// An AS that appears twice, separated by another AS: a routing loop
    /// (prepending is not a loop).
    pub fn loop_asn(&self) -> Option<Asn> {
        let hops = self.hops();
        for (i, a) in hops.iter().enumerate() {
            if hops[i + 1..].contains(a) {
                return Some(*a);
            }
        }
        None
    }

    /// All ASNs in the path, in order, with duplicates.
    pub fn iter(&self) -> impl Iterator<Item = Asn> + '_ {
        self.segments.iter().flat_map(|s| s.asns.iter().copied())
    }
}

impl fmt::Display for AsPath {
    /// bgpdump's notation: a sequence as space-separated numbers, a set as
    /// `{a,b}`, a confederation sequence as `(a b)`, a confederation set as
    /// `[a,b]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for seg in &self.segments {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            let (open, sep, close) = match seg.kind {
                SegmentKind::Sequence => ("", " ", ""),
                SegmentKind::Set => ("{", ",", "}"),
                SegmentKind::ConfedSequence => ("(", " ", ")"),
                SegmentKind::ConfedSet => ("[", ",", "]"),
            };
            f.write_str(open)?;
            for (i, a) in seg.asns.iter().enumerate() {
                if i > 0 {
                    f.write_str(sep)?;
                }
                write!(f, "{}", a.0)?;
            }
            f.write_str(close)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hops_and_origin() {
        let p = AsPath::from_sequence([2497, 2497, 2914, 4713, 4713]);
        assert_eq!(p.hops(), vec![Asn(2497), Asn(2914), Asn(4713)]);
        assert_eq!(p.origin(), Some(Asn(4713)));
        assert_eq!(p.first(), Some(Asn(2497)));
        assert_eq!(p.loop_asn(), None);
        assert_eq!(p.to_string(), "2497 2497 2914 4713 4713");
        let l = AsPath::from_sequence([1, 2, 1]);
        assert_eq!(l.loop_asn(), Some(Asn(1)));
    }

    #[test]
    fn set_has_no_origin() {
        let p = AsPath {
            segments: vec![
                Segment {
                    kind: SegmentKind::Sequence,
                    asns: vec![Asn(1), Asn(2)],
                },
                Segment {
                    kind: SegmentKind::Set,
                    asns: vec![Asn(3), Asn(4)],
                },
            ],
        };
        assert_eq!(p.origin(), None);
        assert_eq!(p.to_string(), "1 2 {3,4}");
    }
}
