//! Live collection: the network side of bugyo, and the route archive
//! that keeps every message it receives.
//!
//! Layer `io`: it may use the model, formats, state, detect and store crates. Each
//! protocol is a module with plain tokio code around a sans-IO codec from
//! `bugyo-formats`.

pub mod archive;
pub mod bgp;
pub mod bmp;
pub mod feed;
pub mod incidents;
pub mod live;
pub mod metrics;
pub mod rib_query;
pub mod rtr;
