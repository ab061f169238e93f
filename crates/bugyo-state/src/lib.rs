//! What bugyo holds in memory while it watches routing: the multi-peer RIB
//! (one Adj-RIB-In per collector peer, path attributes interned), the history
//! that tells "new" from "known", and indexes over reference data (RPKI,
//! ASPA, IRR, AS relationships, AS names, members).
//!
//! Nothing here judges a route; `bugyo-detect` does that using these indexes.

pub mod asgraph;
pub mod attrs;
pub mod irr;
pub mod members;
pub mod rib;
pub mod rpki;

pub use asgraph::{AsGraph, Neighbour};
pub use attrs::{AttrId, AttrStore};
pub use irr::{IrrIndex, IrrMatch};
pub use members::MemberIndex;
pub use rib::{PeerId, PeerInfo, PrefixEntry, Rib, RouteChange};
pub use rpki::{AspaIndex, Rov, VrpIndex};
