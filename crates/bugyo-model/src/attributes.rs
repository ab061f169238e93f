//! BGP path attributes as bugyo keeps them: the parts that routing decisions,
//! detection and bgpdump-compatible output need.

use crate::{AsPath, Asn};
use std::fmt;
use std::net::IpAddr;

/// The ORIGIN attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    /// Learned by an interior protocol.
    Igp,
    /// Learned by EGP.
    Egp,
    /// Learned some other way (e.g. redistribution).
    Incomplete,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Igp => "IGP",
            Origin::Egp => "EGP",
            Origin::Incomplete => "INCOMPLETE",
        })
    }
}

/// A standard community (RFC 1997), printed `asn:value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Community(pub u32);

impl fmt::Display for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.0 >> 16, self.0 & 0xffff)
    }
}

/// A large community (RFC 8092), printed `global:local1:local2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LargeCommunity(pub u32, pub u32, pub u32);

impl fmt::Display for LargeCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.0, self.1, self.2)
    }
}

/// The AGGREGATOR attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Aggregator {
    /// The aggregating AS.
    pub asn: Asn,
    /// The aggregating router's address.
    pub addr: IpAddr,
}

/// The path attributes of a route. Interned by the RIB, so many routes share
/// one copy.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PathAttributes {
    /// ORIGIN, if present.
    pub origin: Option<Origin>,
    /// AS_PATH, merged with AS4_PATH where the speaker was 2-byte only.
    pub as_path: AsPath,
    /// NEXT_HOP, or the MP_REACH next hop for other families.
    pub next_hop: Option<IpAddr>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF.
    pub local_pref: Option<u32>,
    /// ATOMIC_AGGREGATE present.
    pub atomic_aggregate: bool,
    /// AGGREGATOR (AS4_AGGREGATOR merged in).
    pub aggregator: Option<Aggregator>,
    /// COMMUNITIES in wire order.
    pub communities: Vec<Community>,
    /// LARGE_COMMUNITIES in wire order.
    pub large_communities: Vec<LargeCommunity>,
    /// Only-to-customer (RFC 9234), the AS that set it.
    pub otc: Option<Asn>,
}

impl PathAttributes {
    /// Releases spare capacity of the lists, for attribute sets that will be
    /// kept (interned) for a long time.
    pub fn shrink_to_fit(&mut self) {
        self.as_path.segments.shrink_to_fit();
        for seg in &mut self.as_path.segments {
            seg.asns.shrink_to_fit();
        }
        self.communities.shrink_to_fit();
        self.large_communities.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_stay_small() {
        // Interned once per distinct set, but there are hundreds of thousands.
        assert!(
            std::mem::size_of::<PathAttributes>() <= 160,
            "{}",
            std::mem::size_of::<PathAttributes>()
        );
    }
}
