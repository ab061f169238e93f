//! Plain routing types shared by every layer of bugyo.
//!
//! This crate does no I/O. Parsers in `bugyo-formats` produce these types,
//! the RIB in `bugyo-state` stores them, and the detectors in `bugyo-detect`
//! judge them. Each type makes invalid states hard to build: a [`Prefix`]
//! never has host bits set, an [`Asn`] is a 32-bit number.

pub mod asn;
pub mod aspath;
pub mod attributes;
pub mod prefix;
pub mod reference;
pub mod time;

pub use asn::Asn;
pub use aspath::{AsPath, Segment, SegmentKind};
pub use attributes::{Aggregator, Community, LargeCommunity, Origin, PathAttributes};
pub use prefix::{Afi, Prefix, PrefixError};
pub use reference::{AsLink, AsOrg, AsSet, Aspa, AutNum, Member, Relationship, RouteObject, Vrp};
pub use time::Timestamp;

use std::net::IpAddr;

/// A BGP peer as a route collector sees it: the neighbour's address and AS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Peer {
    /// The neighbour's AS number.
    pub asn: Asn,
    /// The neighbour's address on the session.
    pub addr: IpAddr,
}

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.asn, self.addr)
    }
}
