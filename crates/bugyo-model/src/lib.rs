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

/// A BGP peer as a route collector sees it: the neighbour's address and AS,
/// and for a peer seen through BMP the monitored router that reported it
/// (two routers may each have a neighbour at the same address, e.g. a
/// private or link-local one: they are different peers).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Peer {
    /// The neighbour's AS number.
    pub asn: Asn,
    /// The neighbour's address on the session.
    pub addr: IpAddr,
    /// The BMP-monitored router whose session this is (`None`: a session
    /// of the collector itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<IpAddr>,
}

impl Peer {
    /// A peer of the collector itself.
    pub fn new(asn: Asn, addr: IpAddr) -> Peer {
        Peer {
            asn,
            addr,
            via: None,
        }
    }

    /// The same neighbour as seen by the BMP-monitored router `router`.
    pub fn via(self, router: IpAddr) -> Peer {
        Peer {
            via: Some(router),
            ..self
        }
    }
}

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.asn, self.addr)?;
        match self.via {
            Some(router) => write!(f, " via {router}"),
            None => Ok(()),
        }
    }
}
